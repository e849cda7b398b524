"""Reference data files shipped with :mod:`etds_examples`.

``departements.csv`` lists the 101 French départements with their INSEE region and NUTS 2024
codes; ``departement_population.csv`` gives rounded, approximate populations used only to give
the synthetic datasets a realistic shape. This folder is a package so that the files travel in
wheels; read them through :mod:`etds_examples.geography`, not by path.
"""
