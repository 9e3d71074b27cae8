/*
 * Runs @fn on a std::thread and waits for it (callsite_cxx.cc).  In a
 * file of its own, which no EXPECT marker checks: the thread's state,
 * allocated by std::thread's constructor and freed as the thread ends,
 * is charged to the line that constructs it, whichever function that
 * is at each level of optimization.
 */
#ifndef ALLOCINFO_TESTS_THREAD_HELPER_H
#define ALLOCINFO_TESTS_THREAD_HELPER_H

#include <thread>

template <typename F> void run_on_thread(F fn)
{
	std::thread worker(fn);

	worker.join();
}

#endif
