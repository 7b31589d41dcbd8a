// <act/estimators/pca_direction.hpp> alone, nothing used.
#include <act/estimators/pca_direction.hpp>

int main() { return 0; }
