"""SimPy baseline for benchmark workload 1: open M/M/10 (arrivals 9/s, service mean 1 s).

Usage: python mmc.py CUSTOMERS SEED  -> prints "customers wall_seconds"
"""
import os
import random
import sys
import time

import simpy


def main():
    customers, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=10)
    done = [0]

    def customer():
        with servers.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1.0))
        done[0] += 1

    def source():
        for _ in range(customers):
            yield env.timeout(rng.expovariate(9.0))
            env.process(customer())

    env.process(source())
    start = time.perf_counter()
    env.run()
    print(done[0], time.perf_counter() - start)


main()
# Skip interpreter teardown: finalising millions of suspended SimPy processes (each
# releasing its resource request) takes far longer than the simulation itself.
sys.stdout.flush()
os._exit(0)
