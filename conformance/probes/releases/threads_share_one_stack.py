"""THR-1, THR-2, INIT-2, STK-1: before 1.1 the stack is one list on the
FlyteContextManager class, shared by every thread (a new thread sees the main
thread's contexts, and initialize() in any thread replaces the stack of all);
from 1.1 on a new thread starts with no stack of its own (size 0)."""
import threading

from probe import FCM, check, since

main_root = FCM.current_context()
seen = {}


def in_thread():
    seen["size"] = FCM.size()
    FCM.initialize()
    seen["root"] = FCM.current_context()


t = threading.Thread(target=in_thread)
t.start()
t.join()
check("a new thread's size() while main holds one root", seen["size"], 0 if since(1, 1) else 1)
check("initialize() in a thread replaces the main thread's root",
      FCM.current_context() is not main_root, not since(1, 1))
check("the main thread then sees the thread's root", FCM.current_context() is seen["root"], not since(1, 1))

before = FCM.size()
pushed = FCM.current_context().new_builder().build()
t = threading.Thread(target=lambda: FCM.push_context(pushed))
t.start()
t.join()
check("a push in a new thread lands on the main thread's stack", FCM.size() == before + 1, not since(1, 1))
check("and is the main thread's current context", FCM.current_context() is pushed, not since(1, 1))
