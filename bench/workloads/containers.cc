// C++ containers made and dropped: strings, shared_ptr, vector, map,
// unordered_map, a sort and a stream.  Not one of bench/run's workloads:
// a program of the kind it does not use, for bench/instructions, where
// every allocation is new or delete and libstdc++'s string allocator
// is a wrapper whose callers are charged.
//
//   g++ -O2 -o containers containers.cc && ./containers [N]
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

struct Node {
	std::string name;
	std::vector<int> values;
	std::map<std::string, int> attributes;
};

int main(int argc, char **argv)
{
	int n = argc > 1 ? std::atoi(argv[1]) : 100000;
	std::unordered_map<std::string, std::shared_ptr<Node>> index;

	for (int i = 0; i < n; i++) {
		auto node = std::make_shared<Node>();

		node->name = "n" + std::to_string(i);
		node->values.assign(i % 17, i);
		node->attributes[node->name] = i;
		index[node->name] = node;
		if (i % 3 == 0)
			index.erase("n" + std::to_string(i / 2));
	}
	std::vector<std::string> keys;
	for (auto &entry : index)
		keys.push_back(entry.first);
	std::sort(keys.begin(), keys.end());
	std::ostringstream out;
	for (auto &key : keys)
		out << key << ',';
	std::cout << out.str().size() << "\n";
	return 0;
}
