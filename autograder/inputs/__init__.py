"""How submissions enter the grader: folders, zips, notebooks and LMS downloads -> Sources -> staged submissions."""
