"""The issue's yardstick for in-page training speed: a plain PyTorch CPU script of the toy's bench
network (MLP 17 -> 128 -> 128 -> 128 -> 1, batch 512, Adam, noise-prediction MSE on fresh inputs).

Not part of the tests (PyTorch is a large download). To run it:
    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch
    /tmp/tv/bin/python bench/torch_baseline.py          # SiLU
    /tmp/tv/bin/python bench/torch_baseline.py soft     # the lab's soft SiLU, 1/2 (x + x^2/(1+|x|))
"""
import sys
import time

import torch


class SoftSilu(torch.nn.Module):
    def forward(self, x):
        return 0.5 * (x + x * x / (1 + x.abs()))


def main():
    torch.manual_seed(0)
    act = SoftSilu if "soft" in sys.argv[1:] else torch.nn.SiLU
    net = torch.nn.Sequential(
        torch.nn.Linear(17, 128), act(),
        torch.nn.Linear(128, 128), act(),
        torch.nn.Linear(128, 128), act(),
        torch.nn.Linear(128, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        x = torch.randn(512, 17)
        eps = torch.randn(512, 1)
        loss = ((net(x) - eps) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(50):
        step()
    for threads in sorted({torch.get_num_threads(), 1}, reverse=True):
        torch.set_num_threads(threads)
        n = 1000
        t = time.perf_counter()
        for _ in range(n):
            step()
        dt = time.perf_counter() - t
        print(f"torch {torch.__version__} ({act.__name__}), {threads} thread(s): {n / dt:.0f} steps/s")


if __name__ == "__main__":
    main()
