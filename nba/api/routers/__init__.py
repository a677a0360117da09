"""HTTP routers: parse a request schema, call the service, return a response schema."""
