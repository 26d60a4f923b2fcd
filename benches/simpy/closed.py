"""SimPy baseline for benchmark workload 2: closed users thinking Exp(10 s) against one
station of 64 workers with Exp(5 ms) service.

Usage: python closed.py USERS SIM_SECONDS SEED  -> prints "requests wall_seconds"
"""
import os
import random
import sys
import time

import simpy


def main():
    users, horizon, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    env = simpy.Environment()
    workers = simpy.Resource(env, capacity=64)
    done = [0]

    def user():
        while True:
            yield env.timeout(rng.expovariate(0.1))
            with workers.request() as req:
                yield req
                yield env.timeout(rng.expovariate(200.0))
            done[0] += 1

    for _ in range(users):
        env.process(user())
    start = time.perf_counter()
    env.run(until=horizon)
    print(done[0], time.perf_counter() - start)


main()
# Skip interpreter teardown: finalising millions of suspended SimPy processes (each
# releasing its resource request) takes far longer than the simulation itself.
sys.stdout.flush()
os._exit(0)
