"""The process kernel: the process document, typed, and its time rules as pure functions.

Every service reads the process through this package and nothing else, so they cannot drift apart:
``document`` (the API's shape, validation, defaults), ``rules`` (a version typed, durations parsed),
``hours`` (immediacy against a person's hours), ``timing`` (deadlines, tenure, load, cadences).
"""
