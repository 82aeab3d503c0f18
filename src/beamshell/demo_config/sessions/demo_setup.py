# Runs in the demo session's namespace once its objects are loaded.
print("Welcome to the beamshell demo: simulated motors m1, m2, th; counters diode, diode2,")
print("gauss (a peak at m1 = 0), beam, mca; shutter fshutter; measurement groups MG1, MG2.")
print("Try: wa, ct 0.1, ascan(m1, -2, 2, 40, 0.05, gauss), umv m1 1, lsmg")
print("Align: dscan m1 -2 2 40 0.01 gauss, then cen, goto_cen, where, plot")
print("Note: as in BLISS, m1.position = 0 redefines the position (nothing moves);")
print("      move with mv, umv or m1.move(x).")
