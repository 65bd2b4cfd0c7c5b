"""Flask blueprints: parse and validate the request, call one wxapp function, shape the reply.

`registry.register_blueprints` (called by the app factory) registers every module here that
defines a blueprint `bp`; the progress beacon, the hot path, is a WSGI endpoint in front of
them (handlers/beacons.py).
"""
