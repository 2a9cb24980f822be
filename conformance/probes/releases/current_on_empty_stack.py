"""CUR-2: current_context() on an empty stack returns None before 1.1, and
initializes a new root (level 1) from 1.1 on."""
from probe import FCM, check, since

try:
    FCM.pop_context()  # the root: removed, then AssertionError ([POP-2])
except AssertionError:
    pass
check("size after popping the root", FCM.size(), 0)
found = FCM.current_context()
check("current_context() on an empty stack gives a new root", found is not None, since(1, 1))
check("size afterwards", FCM.size(), 1 if since(1, 1) else 0)
