"""The Redis broker transport, with one guard that keeps a worker alive across a Redis restart.

Celery 5.7.0 closes the consumer's connection a second time after `collect()` has already dropped
its transport (`Consumer.on_connection_error_after_connected`: collect, then `connection.close`).
The second close reaches kombu's `QoS.restore_unacked`, which builds a Redis client from the
transport's `client`, now None: `AttributeError: 'NoneType' object has no attribute 'hostname'`,
which celery treats as "Unrecoverable error" and the worker exits (the same failure as
celery/kombu#582 and #970, reached by a new path; no celery/kombu release fixes it: 5.7.0 is the
newest, and 5.6.3 lets Django settings shadow `app.conf` assignments). Skipping that restore loses
nothing: the unacked messages are still in Redis's unacked hash, where the visibility-timeout
restore hands them back, and if Redis lost them too, the periodic sweep re-sends the jobs.
Selected by settings.CELERY_BROKER_TRANSPORT for redis:// and rediss:// broker URLs.
"""

from __future__ import annotations

import logging

from kombu.transport import redis

logger = logging.getLogger("standpoint.celery")


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        if client is None and getattr(self.channel.connection, "client", None) is None:
            logger.warning("broker connection already closed: %d unacknowledged message(s) left to the "
                           "visibility-timeout restore", len(self._delivered))
            self._delivered.clear()
            return None
        return super().restore_unacked(client)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
