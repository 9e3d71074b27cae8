/*
 * A std::map of 200,000 std::strings of 20 to 49 characters, built in
 * scattered key order, read once and destroyed, ROUNDS times over: the
 * allocation pattern of C++ containers filled and then dropped, where
 * every node and every string is a call to operator new and delete,
 * and the deletes come in bursts far longer than any thread cache.
 * The strings are made by libstdc++'s std::string::_M_create, a
 * wrapper whose allocations a profiler charges to its caller.  Not one
 * of bench/run's workloads: for bench/alternate and bench/instructions,
 * where it shows what the profiler's own code costs when no block is
 * reused before jemalloc's cache flushes it (python3 with
 * PYTHONMALLOC=malloc frees and allocates in the same long runs).
 *
 *   g++ -O2 -o string_map string_map.cc && ./string_map [ROUNDS]
 */
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? std::atoi(argv[1]) : 4;
	long sum = 0;

	for (int r = 0; r < rounds; r++) {
		std::map<int, std::string> m;

		for (int i = 0; i < 200000; i++)
			m.emplace(i * 7919 % 200003, std::string(20 + i % 30, 'x'));
		for (const auto &p : m)
			sum += (long)p.second.size();
	}
	std::printf("%ld\n", sum);
	return 0;
}
