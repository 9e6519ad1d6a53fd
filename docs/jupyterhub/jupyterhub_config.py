# JupyterHub for a class taking the course, on one Linux server.
#
# Every learner gets their own JupyterLab, started as a systemd service with a memory and CPU cap,
# running notebooks with ONE shared, read-only copy of the course's Python environment and data.
# Learners' servers that sit idle are stopped by jupyterhub-idle-culler. See README.md next to this
# file for the set-up, step by step, and for how many learners a server can hold.
#
# Start it (as root, from the folder that keeps the hub's state):
#
#     cd /srv/jupyterhub && /opt/jupyterhub/bin/jupyterhub -f /opt/llm-course/docs/jupyterhub/jupyterhub_config.py
#
# Everything a teacher usually changes is read from an environment variable, so this file can stay
# as it is in the course's repository. The defaults are in brackets:
#
#   LLM_COURSE_DIR       the course's checkout, with its .venv and data/, made by `make setup` [/opt/llm-course]
#   LLM_HUB_PREFIX       the virtual environment JupyterHub is installed in [the one running this file]
#   LLM_HUB_STATE_DIR    where the hub keeps its database and cookie secret [/srv/jupyterhub]
#   LLM_HUB_BIND_URL     the address the hub listens on [http://:8000]; put HTTPS in front of it
#   LLM_HUB_SSL_CERT,
#   LLM_HUB_SSL_KEY      if both are set, the hub serves HTTPS itself with this certificate and key
#   LLM_HUB_AUTH         "pam": log in with the server's own Unix accounts (members of LLM_HUB_GROUP);
#                        "firstuse": learners on a class list choose their password at first log-in,
#                        and need no Unix account [pam]
#   LLM_HUB_GROUP        the Unix group whose members may log in with "pam" [llm-learners]
#   LLM_HUB_CLASS_LIST   for "firstuse": a file with one username per line, the only names that may
#                        log in [STATE_DIR/class-list.txt]
#   LLM_HUB_ADMINS       comma-separated usernames of the teachers, who get the admin page [none]
#   LLM_HUB_SPAWNER      "systemd": each learner's server is a systemd unit with the limits below;
#                        "local": plain processes, NO limits (only for machines without systemd) [systemd]
#   LLM_HUB_MEM_LIMIT    memory cap per learner; lesson 09 needs about 2 GB [3G]
#   LLM_HUB_CPU_LIMIT    CPU cap per learner, in cores [1]
#   LLM_HUB_IDLE_TIMEOUT seconds without activity before a learner's server is stopped [3600]
#
# This file is plain Python read by JupyterHub (through traitlets). It imports nothing from
# JupyterHub itself, so tests/test_teaching.py can load it without JupyterHub installed.

import os
import sys

c = get_config()  # noqa: F821  (JupyterHub provides get_config when it reads this file)


def _setting(name, default):
    """An environment variable, or ``default`` when it is unset or empty."""
    return os.environ.get(name, "").strip() or default


def _choice(name, default, allowed):
    value = _setting(name, default).lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


COURSE_DIR = _setting("LLM_COURSE_DIR", "/opt/llm-course").rstrip("/")
HUB_PREFIX = _setting("LLM_HUB_PREFIX", sys.prefix).rstrip("/")
STATE_DIR = _setting("LLM_HUB_STATE_DIR", "/srv/jupyterhub").rstrip("/")
AUTH = _choice("LLM_HUB_AUTH", "pam", ("pam", "firstuse"))
SPAWNER = _choice("LLM_HUB_SPAWNER", "systemd", ("systemd", "local"))
MEM_LIMIT = _setting("LLM_HUB_MEM_LIMIT", "3G")
CPU_LIMIT = float(_setting("LLM_HUB_CPU_LIMIT", "1"))
IDLE_TIMEOUT = int(_setting("LLM_HUB_IDLE_TIMEOUT", "3600"))
ADMINS = {name.strip() for name in _setting("LLM_HUB_ADMINS", "").split(",") if name.strip()}

# The course's kernel is registered (README, step 4) under the name "python3", the kernel every
# lesson asks for, in a folder of its own. Putting that folder first on JUPYTER_PATH makes it win
# over the plain "python3" kernel of the hub's environment, which has no PyTorch.
KERNEL_PREFIX = f"{HUB_PREFIX}/course-kernel"
KERNEL_PATH = f"{KERNEL_PREFIX}/share/jupyter"

# --------------------------------------------------------------------------- the hub itself

c.JupyterHub.bind_url = _setting("LLM_HUB_BIND_URL", "http://:8000")
if os.environ.get("LLM_HUB_SSL_CERT") and os.environ.get("LLM_HUB_SSL_KEY"):
    c.JupyterHub.ssl_cert = os.environ["LLM_HUB_SSL_CERT"]
    c.JupyterHub.ssl_key = os.environ["LLM_HUB_SSL_KEY"]
c.JupyterHub.db_url = f"sqlite:///{STATE_DIR}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE_DIR}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = f"{STATE_DIR}/jupyterhub-proxy.pid"

# --------------------------------------------------------------------------- who may log in

c.Authenticator.admin_users = ADMINS
if AUTH == "pam":
    # Accounts are the server's own: `useradd -m -G llm-learners NAME` for each learner (README, step 6).
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = {_setting("LLM_HUB_GROUP", "llm-learners")}
else:
    # Only the names on the class list (and the admins) may log in. The first log-in with a name
    # sets its password; a teacher resets a forgotten one by deleting the user on the admin page.
    class_list = _setting("LLM_HUB_CLASS_LIST", f"{STATE_DIR}/class-list.txt")
    try:
        with open(class_list, encoding="utf-8") as file:
            learners = {line.split("#", 1)[0].strip() for line in file} - {""}
    except FileNotFoundError:
        raise ValueError(
            f"LLM_HUB_AUTH=firstuse needs a class list, one username per line, at {class_list} "
            "(or set LLM_HUB_CLASS_LIST to where it is)"
        ) from None
    if not learners:
        raise ValueError(f"the class list {class_list} has no usernames in it")
    c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
    c.Authenticator.allowed_users = learners
    c.FirstUseAuthenticator.create_users = False  # a name not on the list cannot claim an account
    c.FirstUseAuthenticator.min_password_length = 8
    c.FirstUseAuthenticator.dbm_path = f"{STATE_DIR}/passwords.dbm"

# --------------------------------------------------------------------------- each learner's server

c.Spawner.cmd = [f"{HUB_PREFIX}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"  # open JupyterLab, not the classic file list
c.Spawner.args = [
    # Stop a notebook's kernel (and give back its memory) after 20 idle minutes with no tab open on it.
    "--MappingKernelManager.cull_idle_timeout=1200",
    "--MappingKernelManager.cull_interval=120",
    # Only the course's kernel is offered: without it a notebook asks for a kernel instead of
    # silently running in the hub's own Python, which has no PyTorch.
    "--KernelSpecManager.ensure_native_kernel=False",
]
c.Spawner.environment = {
    "JUPYTER_PATH": KERNEL_PATH,
    # One math thread per core the learner may use: more threads than the CPU cap only queue.
    "OMP_NUM_THREADS": str(max(1, int(CPU_LIMIT))),
    "MKL_NUM_THREADS": str(max(1, int(CPU_LIMIT))),
    # nbgitpuller links open notebooks in JupyterLab.
    "NBGITPULLER_APP": "lab",
}
c.Spawner.mem_limit = MEM_LIMIT
c.Spawner.cpu_limit = CPU_LIMIT
# A class logs in at the same moment: give each server time to start on a busy machine.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90

if SPAWNER == "systemd":
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.isolate_tmp = True  # a private /tmp for each learner
    c.SystemdSpawner.isolate_devices = True
    c.SystemdSpawner.disable_user_sudo = True
    # The shared course and hub environments cannot be changed from inside a learner's server,
    # whatever the file permissions say.
    c.SystemdSpawner.readonly_paths = [COURSE_DIR, HUB_PREFIX]
    if AUTH == "firstuse":
        # Learners on the class list have no Unix account: systemd makes one while their server
        # runs, with a home folder under /var/lib/<name> that persists.
        c.SystemdSpawner.dynamic_users = True
else:
    # Plain processes under each learner's Unix account. mem_limit and cpu_limit are NOT enforced.
    c.JupyterHub.spawner_class = "localprocess"

# --------------------------------------------------------------------------- stop idle servers

c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={IDLE_TIMEOUT}",
            "--cull-every=300",
        ],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "description": "Stop learners' servers that have been idle for a while",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
