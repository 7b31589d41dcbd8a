// <act/io/map_file.hpp> alone, nothing used.
#include <act/io/map_file.hpp>

int main() { return 0; }
