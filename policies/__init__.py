"""Pure library: ODRL 2.2 usage policies — model, validation, evaluation, enforcement plans."""
