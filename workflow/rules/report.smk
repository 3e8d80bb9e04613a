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
    localrule: True
    run:
        from dltutorials.tutorial_table import read_tables, write

        write(read_tables([path for path in input if path != input.spec]), output.csv, output.md, output.html, "paper")


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
    localrule: True
    run:
        from dltutorials.tutorial_table import read_tables, write

        write(read_tables([path for path in input if path != input.spec]), output.csv, output.md, output.html, wildcards.preset)
