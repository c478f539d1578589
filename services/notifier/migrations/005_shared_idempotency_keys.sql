-- The notifier's Idempotency-Keys now live in the shared idempotency_keys table, as every service's
-- (shared/idempotency.py): answers there are replayed with Idempotent-Replayed, and a retry while the
-- first request runs waits for it. Keys answered here before are forgotten: a retry of one of them
-- within its 24 hours runs again.
DROP TABLE answered_requests;
