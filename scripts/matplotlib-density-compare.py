# The same data as Tests/RenderTests/DemoFigureTests density.png (written to
# $CNF_RENDER_DEMO_DIR, default /tmp/cnf-render-demo, by bash scripts/test), drawn with
# matplotlib's defaults, for the side-by-side docs/figures/cnf-vs-matplotlib.png. Needs matplotlib, numpy:
#   python3 -m venv /tmp/mplvenv && /tmp/mplvenv/bin/pip install matplotlib numpy
#   /tmp/mplvenv/bin/python scripts/matplotlib-density-compare.py OUT.png
import numpy as np, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
n = 200
c = (np.arange(n) + 0.5) / n * 8 - 4
X, Y = np.meshgrid(c, c)
p = np.zeros_like(X)
for k in range(8):
    a = k * np.pi / 4
    p += np.exp(-((X - 2.8 * np.cos(a))**2 + (Y - 2.8 * np.sin(a))**2) / 0.5) / (2 * np.pi * 0.25) / 8
fig, ax = plt.subplots(figsize=(3.6, 3.2), dpi=100)
im = ax.imshow(p, origin="lower", extent=(-4, 4, -4, 4))
fig.colorbar(im, ax=ax)
ax.set_title("p(x)")
import sys
fig.savefig(sys.argv[1] if len(sys.argv) > 1 else "matplotlib.png")
