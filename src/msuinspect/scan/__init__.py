"""Walking the inputs of a batch: files given by name and folders of packages."""
