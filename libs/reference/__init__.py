"""Dated reference tables (regions, minimum wage, occupations) that the services validate against."""
