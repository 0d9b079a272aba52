"""hw4: a literate, verified build of CMU Convex Optimization (spring 2020) Homework 4."""
