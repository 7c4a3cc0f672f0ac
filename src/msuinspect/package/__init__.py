"""Windows update package analysis: the layers above the cabinet (catalogs, manifests,
package metadata and catalog coverage)."""
