"""The partner API (/api/v1/): one module per topic. Views fetch-and-authorise through
``casework.api.common`` and call services; serializers only validate and shape."""
