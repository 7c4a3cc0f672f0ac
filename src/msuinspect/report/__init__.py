"""Reports: renderers that turn the library's typed results into text or JSON. Nothing here
computes facts; every value printed is an attribute of a typed object of a lower layer."""
