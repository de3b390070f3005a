"""The controller: the one `ControllerService` (service.py) with its transports (grpc/, http/),
auth, metrics, the sweeper, and the composition root (main.py)."""
