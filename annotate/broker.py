"""The Redis broker transport, with one guard that keeps a worker alive across a Redis restart.

When a worker loses Redis, celery 5.7.0 closes the consumer's connection a second time after
`collect()` has already dropped its transport (`Consumer.on_connection_error_after_connected`),
and a task that finishes after the reconnect acknowledges its message on the old, dead channel.
Both reach kombu's `Channel._connparams`, which reads the transport's `client`, now None:
`AttributeError: 'NoneType' object has no attribute 'hostname'` (or `… 'client'`), which celery
calls an "Unrecoverable error" and the worker exits (the same failure as celery/kombu#582 and
#970, reached by new paths). No release fixes it: kombu and celery 5.7.0 are the newest, and
celery 5.6.3 lets Django settings shadow `app.conf` assignments (the in-process mode relies on
them). The guard turns "this channel's connection is gone" into the connection error it is, which
celery already handles (a failed restore or ack is logged; the consumer reconnects). Nothing is
lost: an unacked message stays in Redis's unacked hash until the visibility-timeout restore hands
it back (its task is idempotent), and if Redis lost it too, the periodic sweep re-sends the job.
Selected by settings.CELERY_BROKER_TRANSPORT for redis:// and rediss:// broker URLs.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("this broker channel's connection was closed (Redis went away)")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
