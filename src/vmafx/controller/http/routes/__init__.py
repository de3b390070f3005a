"""The HTTP API's routes, one router per resource; each route is decode → service → encode."""
