// The umbrella header, nothing used.
#include <act/act.hpp>

int main() { return 0; }
