"""matching: ranks person-job fits both ways, allocates within headcounts, runs applications to placement."""
