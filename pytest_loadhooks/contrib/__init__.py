"""Optional parts at Locust's ``locust.contrib`` paths: ``fasthttp``, and users for other systems
(``postgres``, ``mqtt``, ``socketio``, ``dns``, ``csv_request_logger``, ``mongodb``, ``milvus``, ``qdrant``,
``oai``; docs/other-systems.md) whose
client libraries are optional extras, imported through ``_extras.require``."""
