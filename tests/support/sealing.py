"""The keys the tests seal secrets with (S11, shared/sealing.py): every service a test starts takes KEY from
WARROOM_SECRETS_KEYS (tests/conftest.py sets it for the session); OLD_KEY is the one a rotation test says
was in use before."""

KEY = "XrcVauWfCN7xrytLOW9jabI_nbQOg7Iqy9KM_kLWS-4="
OLD_KEY = "IlqzCXWxWzxd1f0uy42mgrD6vy194kFufSknK8j3Uy8="
