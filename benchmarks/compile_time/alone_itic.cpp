// <act/estimators/itic.hpp> alone, nothing used.
#include <act/estimators/itic.hpp>

int main() { return 0; }
