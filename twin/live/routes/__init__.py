"""The HTTP API of the live service, one router per job.

=========================  =======  ==========================================================
endpoint                   scope    what
=========================  =======  ==========================================================
``POST /readings``         ingest   a batch of readings, JSON or CSV; per-row report
``GET /readings``          read     stored readings (``sensor``, ``start``, ``end``, ``limit``)
``GET /sensors``           read     the sensor registry with each sensor's newest reading
``POST /radar``            ingest   radar frames, CF NetCDF (raw or multipart); per-frame report
``POST /nowcasts``         ingest   an external nowcast grid, CF NetCDF (a met bureau's product)
``GET /radar``             read     frames and nowcasts held, grids, the last forecast's rain
``GET /forecasts``         read     the latest forecast of every low point (quantiles, p)
``GET /alerts``            read     active alerts or all messages: CAP JSON or an Atom feed
``GET /alerts/stream``     read     server-sent events, one per new message (``Last-Event-ID``)
``GET /alerts/{id}``       read     one message as CAP 1.2 XML (or ``format=json``)
``/subscriptions``         admin    GET, POST (add or change), ``DELETE /subscriptions/{name}``
``/tokens``                admin    GET, POST (mint; the token is shown once), DELETE
``GET /outbox``            admin    delivery state; ``POST /outbox/retry`` re-queues failures
``GET /health``            none     readiness: ok, degraded, 503 when the store is down
``GET /metrics``           none     Prometheus metrics (or ``read``: ``server.public_metrics``)
=========================  =======  ==========================================================

- :mod:`twin.live.routes.deps`: the service of the app and the token checks, as
  FastAPI dependencies;
- :mod:`twin.live.routes.readings`: ``/readings`` (ingest and query) and ``/sensors``;
- :mod:`twin.live.routes.radar`: ``/radar`` (frames) and ``/nowcasts``;
- :mod:`twin.live.routes.forecasts`: ``/forecasts``;
- :mod:`twin.live.routes.alerts`: ``/alerts`` (feed, one message, SSE stream);
- :mod:`twin.live.routes.admin`: ``/subscriptions``, ``/tokens``, ``/outbox``;
- :mod:`twin.live.routes.ops`: ``/health``, ``/metrics`` and ``/``.

:mod:`twin.live.routes.bodies` declares the request bodies the ingest routes read
themselves (for ``/openapi.json``); :mod:`twin.live.routes.responses` holds the error
answers (JSON always, 503 with ``Retry-After`` while the store is down, 400 for control
characters in the URL). :func:`twin.live.app.create_app` puts them together. Tokens go
in ``Authorization: Bearer <token>``; a missing or unknown token gets 401, a token
without the scope 403, and an address that sent ``server.bad_token_limit`` wrong tokens
within ``server.bad_token_window`` gets 429 with ``Retry-After`` (see
:mod:`twin.live.auth`).
"""
