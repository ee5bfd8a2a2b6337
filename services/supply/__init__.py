"""supply: Jiangsu employers, jobs and supply lists."""
