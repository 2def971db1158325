import json
import platform
import sys

from kestra import Kestra

print("Hello from AWS Batch and kestra!")


def print_environment_info():
    print(f"Host's network name: {platform.node()}")
    print(f"Python version: {platform.python_version()}")
    print(f"Platform information (instance type): {platform.platform()}")
    print(f"OS/Arch: {sys.platform}/{platform.machine()}")

    env_info = {
        "host": platform.node(),
        "platform": platform.platform(),
        "OS": sys.platform,
        "python_version": platform.python_version(),
    }
    Kestra.outputs(env_info)

    filename = "{{ workingDir }}/environment_info.json"
    with open(filename, "w") as json_file:
        json.dump(env_info, json_file, indent=4)


if __name__ == "__main__":
    print_environment_info()
