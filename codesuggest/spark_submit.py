"""The driver script for ``spark-submit``: the ``codesuggest`` command line, run as a file.

``spark-submit`` wants a Python file, and ``cli.py`` uses relative imports, so::

    spark-submit --master spark://head:7077 \\
        "$(python -c 'import codesuggest.spark_submit as m; print(m.__file__)')" \\
        batch --engine spark --input ... --output ... --model ...
"""

from codesuggest.cli import run

if __name__ == "__main__":
    run()
