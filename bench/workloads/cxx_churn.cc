/*
 * C++ allocation patterns, one per MODE, N times: not one of bench/run's
 * workloads, for bench/alternate and bench/instructions.
 *
 *   1  a std::vector of N std::strings of about 30 characters, grown by
 *      push_back, then destroyed
 *   2  a std::unordered_map of N keys to short strings
 *   3  N std::make_shared vectors, half of them dropped at every 1,000:
 *      news and deletes in bursts of 500, longer than a thread's cache
 *      of the profiler (core/magazine.h) and mostly through wrappers
 *   4  N std::ostringstreams
 *   5  a std::deque of strings, 5,000 kept, N pushed
 *   6  a std::list of N longs, sorted
 *   7  N std::strings of 47 characters, each grown by two appends and
 *      dropped: three news a string through libstdc++'s wrappers that
 *      call wrappers (_M_construct or _M_mutate, then _M_create), each
 *      block freed before the next is asked for
 *
 *   g++ -O2 -o cxx_churn cxx_churn.cc && ./cxx_churn MODE N
 */
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

int main(int argc, char **argv)
{
	int mode = argc > 1 ? std::atoi(argv[1]) : 1;
	long n = argc > 2 ? std::atol(argv[2]) : 1000000;
	unsigned long sum = 0;

	switch (mode) {
	case 1: {
		std::vector<std::string> v;

		for (long i = 0; i < n; i++)
			v.push_back(std::to_string(i * 7919) + "-suffix-of-some-length");
		for (const auto &s : v)
			sum += s.size();
		break;
	}
	case 2: {
		std::unordered_map<long, std::string> m;

		for (long i = 0; i < n; i++)
			m[i * 7919 % 1000003] = std::to_string(i);
		for (const auto &kv : m)
			sum += kv.second.size();
		break;
	}
	case 3: {
		std::vector<std::shared_ptr<std::vector<int>>> v;

		for (long i = 0; i < n; i++) {
			v.push_back(std::make_shared<std::vector<int>>(i % 17));
			if (v.size() > 1000)
				v.erase(v.begin(), v.begin() + 500);
		}
		sum = v.size();
		break;
	}
	case 4:
		for (long i = 0; i < n; i++) {
			std::ostringstream o;

			o << "value " << i << " and " << i * 3.5;
			sum += o.str().size();
		}
		break;
	case 5: {
		std::deque<std::string> d;

		for (long i = 0; i < n; i++) {
			d.push_back(std::string(40 + i % 50, 'x'));
			if (d.size() > 5000)
				d.pop_front();
		}
		sum = d.size();
		break;
	}
	case 6: {
		std::list<long> l;

		for (long i = 0; i < n; i++)
			l.push_back(i);
		l.sort([](long a, long b) { return (a * 7919) % 1000 < (b * 7919) % 1000; });
		sum = l.size();
		break;
	}
	case 7:
		for (long i = 0; i < n; i++) {
			std::string s("a string of some length, past the small buffer");

			s.append(40, 'x');
			s.append(90, 'y');
			sum += s.size();
		}
		break;
	default:
		std::fprintf(stderr, "usage: cxx_churn MODE N (MODE 1 to 7)\n");
		return 2;
	}
	std::printf("%lu\n", sum);
	return 0;
}
