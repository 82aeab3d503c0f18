# Runs in the demo session's namespace once its objects are loaded.
print("Welcome to the beamshell demo: simulated motors m1, m2, th, counters diode, diode2,")
print("gauss (a peak on m1), beam, mca, shutter fshutter. Try: wa, ct 0.1, ascan(m1, -2, 2, 20, 0.05)")
