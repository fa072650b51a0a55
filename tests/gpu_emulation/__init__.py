"""CuPy emulation for tests: run neurorad's GPU code path on a machine without a GPU."""
