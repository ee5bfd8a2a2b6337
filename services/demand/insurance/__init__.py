"""Big-data comparison (大数据比对): the human-resources department's monthly social-insurance contribution file
compared with the registered workers, within the import: contributions that stopped while the platform says
employed, contributions paid while it says not, and an employer other than the placement's raise warnings for
the worker's station. ID numbers are hashed with the demand key on arrival and kept nowhere."""
