# The tutorial table: every number the tutorial reports beside ours (mean over seeds),
# with the verdict against the tolerance conf/tutorial_table.yaml promises.


rule tutorial_table_paper:
    input:
        lambda w: tutorial_table_inputs("paper"),
        spec=str(tutorial_table.SPEC_PATH),
    output:
        csv="results/tutorial_table.csv",
        md="results/tutorial_table.md",
        html=report("results/tutorial_table.html", caption="../report/tutorial_table.rst", category=TUTORIAL_CATEGORY),
    params:
        tables=lambda w: tutorial_table_inputs("paper"),
    log:
        "results/logs/tutorial_table_paper.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.tutorial_table {output.csv} {output.md} {output.html} --preset paper"
        " {params.tables} > {log} 2>&1"


rule tutorial_table:
    input:
        lambda w: tutorial_table_inputs(w.preset),
        spec=str(tutorial_table.SPEC_PATH),
    output:
        csv="results/{preset}/tutorial_table.csv",
        md="results/{preset}/tutorial_table.md",
        html=report("results/{preset}/tutorial_table.html", caption="../report/tutorial_table.rst",
                    category=TUTORIAL_CATEGORY),
    wildcard_constraints:
        preset="|".join(p for p in PRESETS if p != "paper"),
    params:
        tables=lambda w: tutorial_table_inputs(w.preset),
    log:
        "results/logs/tutorial_table_{preset}.log",
    localrule: True
    shell:
        "{PYTHON} -m dltutorials.tutorial_table {output.csv} {output.md} {output.html} --preset {wildcards.preset}"
        " {params.tables} > {log} 2>&1"
