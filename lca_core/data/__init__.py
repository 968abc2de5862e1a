"""Long Code Arena datapoints: loading through `datasets`, validation, repository-disjoint splits."""
