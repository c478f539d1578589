"""The incident service's HTTP routes, one router per resource (bootstrap.py includes them in order):
``people`` (people and tokens), ``process`` (the process and its refinements, R17), ``directory`` (R10),
``reports`` (R12), ``incidents`` (declaring and reading), ``events`` (an incident's history, R18) and
``commands`` (every command on an incident). A domain refusal (errors.py) is turned into a problem by
the handler bootstrap.py registers once; routes only raise."""
