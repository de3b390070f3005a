"""`vmafx operator`: vmafx on Kubernetes, built with kopf (`pip install 'vmafx[operator]'`).

    fields.py    the custom resources' group, plurals and every spec/status field name used
    jobs.py      VmafxJob   → a controller job (uid = idempotency key), its state into .status
    nodes.py     VmafxNode  → the Deployment of a node pool (pure manifest builder)
    training.py  VmafxModelTraining → the trainer's ConfigMap; the trainer's /status into .status
    kube.py      the few Kubernetes API calls kopf does not make for us (create-or-patch, GET)
    handlers.py  the kopf handlers (imports kopf); main.py runs them

Only `handlers.py` and `main.py`'s `run` import kopf; everything else is plain Python tested
without it.
"""
