"""What a record says about where it was measured: the GPU's state and the code each variant imported.

``gpu`` queries ``nvidia-smi`` (model, driver, CUDA, clocks, temperature, power, ECC,
persistence, other processes) and locks/resets clocks; ``imported`` checks inside each
sandbox that the package a server imports is the variant's own code. Nothing here is
imported by the plugin at start-up.
"""
