"""Pure library: the DCAT-AP 3 model and its JSON-LD / RDF forms (no HTTP, no database)."""
