"""Demo-data generator, sample import files and channel mapping profiles."""
