// act.fit on float samples: every registered estimator instantiated for float (see fit_samples.hpp).

#include "fit_samples.hpp"

namespace act_python {
template py_fit fit_typed<float>(const std::string&, const array_ref&, const array_ref&, const act::fit_settings&);
}  // namespace act_python
