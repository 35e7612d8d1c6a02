"""The web layer: Flask namespaces and views, authentication, errors, HTTP helpers, the
contract and the docs."""
